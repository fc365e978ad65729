"""Probes that turn an HTTP answer into facts: the image header parser and image prober."""
