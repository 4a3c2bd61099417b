"""Formats in and out: networks (.npz, NIR, Graph Challenge TSV) and datasets."""

from neurosim.io.formats import FORMATS, detect_format, load_network, save_network

__all__ = ["FORMATS", "detect_format", "load_network", "save_network"]
