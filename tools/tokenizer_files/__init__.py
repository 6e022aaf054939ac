"""Tokenizer files (tokenizer.json + tokenizer_config.json) trained by the project's own code for tests."""
