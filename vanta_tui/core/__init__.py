"""The desk's core: models, order states, and the rules. Never imports Textual."""
