"""callqa: offline AI quality inspection for customer-service calls."""

from pipeline.config import apply_offline_environment

apply_offline_environment()

__version__ = "0.1.0"
