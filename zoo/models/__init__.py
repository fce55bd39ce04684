"""models components; each module registers itself on import."""
