"""The benchmark: `python -m bench` starts the bot as the Procfile does and prints figures (see README)."""
