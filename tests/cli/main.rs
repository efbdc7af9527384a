//! Integration tests of the `routewall` binary against real Flask apps and a real nginx.
//!
//! They need the test venv (`scripts/test.sh` creates `.venv` with Flask) and nginx; both
//! are installed by `scripts/test.sh`, which `.ci/run` calls.

mod deploy;
mod differential;
mod django;
mod django_hostile;
mod django_realapps;
mod django_server;
mod errors;
mod examples;
mod generate;
mod haproxy;
mod hostile;
mod module;
mod openapi;
mod plugins;
mod starlette;
mod starlette_realapps;
mod support;
mod tree;
