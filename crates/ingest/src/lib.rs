//! Readers for Entra ID log exports: shape detection, decompression, normalization into events.
