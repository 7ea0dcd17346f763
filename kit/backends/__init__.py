"""Backend declarations, one module per family.

Each module declares its operations and backends with
:func:`kit._registry.declare_operation` and :func:`kit._registry.declare_backend`.
Libraries are imported only inside the ``load`` functions.
"""
