"""callqa: offline AI quality inspection for customer-service calls."""

from pipeline.support.offline import apply_offline_environment

apply_offline_environment()

__version__ = "0.1.0"
