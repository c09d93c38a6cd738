"""Reads, one module per topic. Selectors import models and `credits.money`, never services:
services call selectors, never the reverse."""
