"""``python -m services.cli`` runs the radbridge CLI."""

from services.cli.app import main

main()
