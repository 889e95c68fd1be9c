"""Model weights and their loading: the checksummed base encoders and Whisper weights assembled
from packages, the frozen encoder, and the classifier registry (versions and champions).
"""
