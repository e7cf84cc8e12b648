"""Core of the engine: types, errors, registries and configuration. Imports nothing heavy."""
