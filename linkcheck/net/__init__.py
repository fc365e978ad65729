"""HTTP: URL normalisation, the address policy, transports, host gates, retries, fetching."""
