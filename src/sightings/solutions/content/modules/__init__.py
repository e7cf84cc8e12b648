"""Built-in feature modules (registered on import): visual, semantic (OCR, uniqueness, scene) and audio."""
