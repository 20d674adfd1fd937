//! Metadata-store ports (implemented by `quay-adapter-db`).
