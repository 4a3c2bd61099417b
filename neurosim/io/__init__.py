"""Formats in and out: networks (.npz, NIR, Graph Challenge TSV) and datasets."""

from neurosim.io.datasets import DATASETS, Dataset, load_dataset, train_test_split
from neurosim.io.encoding import ENCODINGS, encode, iter_spikes
from neurosim.io.formats import FORMATS, detect_format, load_network, save_network

__all__ = [
    "DATASETS",
    "ENCODINGS",
    "FORMATS",
    "Dataset",
    "detect_format",
    "encode",
    "iter_spikes",
    "load_dataset",
    "load_network",
    "save_network",
    "train_test_split",
]
