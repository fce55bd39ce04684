"""losses components; each module registers itself on import."""
