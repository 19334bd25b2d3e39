"""The supplier graph: edges from trade, declared sub-suppliers and ownership; tiers; paths."""
