"""``python -m linkcheck``."""

from linkcheck.cli import console

console()
