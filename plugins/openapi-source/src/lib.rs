//! Routes from an OpenAPI document (work in progress).
