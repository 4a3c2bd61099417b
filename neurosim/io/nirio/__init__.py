"""NIR import and export, split by job (the public entry points are in :mod:`neurosim.io.nir_format`).

``graph``     reading a ``.nir`` file into nir nodes and edges, with one-line errors;
``dialects``  each exporter's conventions (snnTorch, Norse, sinabs, Lava) and ``auto`` detection;
``ops``       linear maps (matrix, convolution, pooling, scale, reshape) and their composition;
``shapes``    node shapes and the compact conv/pool specs of NIR nodes;
``builder``   nodes and edges -> populations and (folded) projections;
``writer``    Network -> NIR, with the per-library export presets.
"""

__all__: list[str] = []
