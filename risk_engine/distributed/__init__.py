"""The same Arrow-batch kernels run on PySpark."""
