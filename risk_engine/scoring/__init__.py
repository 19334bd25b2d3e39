"""Risk methodologies (fl-v1): inherent risk, evidence, propagation, flags, explanations."""
