"""The package's version, apart from the client so the server can name it without loading tqdm."""

__version__ = "0.1.0"
