"""Solutions: products built on the engine (wildlife photo-ID, pets, retail, content). They never import each other."""
