"""Test helpers shipped with the package: fake backends every registry offers under the name ``fake``."""
