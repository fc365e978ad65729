"""The run: seeds -> unique URLs -> fetches -> judged checks, streamed to the report."""
