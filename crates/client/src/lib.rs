//! A typed Docker Engine API client over a unix socket, used by `berth` and by the tests.
