"""Running inside GitHub Actions: the event, the runner\x27s files and commands."""
