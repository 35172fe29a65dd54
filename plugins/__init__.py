"""Behaviour plugins shipped with the hub (matchers, risk signals, flag policies)."""
