//! The design system's files, embedded in the binary: Det Fælles Designsystem (npm package
//! `dkfds`, MIT; IBM Plex Sans under the SIL Open Font License; icons under Apache 2.0; see
//! `assets/dkfds/LICENSE.md`), copied by `scripts/vendor-console-assets.sh` from the
//! version in `assets/dkfds/VERSION`. Served under `/assets/dkfds/` with the paths the
//! stylesheet uses for its fonts and icons.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

macro_rules! asset {
    ($path:literal) => {
        (
            $path,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/console/assets/dkfds/",
                $path
            ))
            .as_slice(),
        )
    };
}

/// Every embedded file, by its path under `/assets/dkfds/`.
const FILES: &[(&str, &[u8])] = &[
    asset!("css/dkfds.min.css"),
    asset!("fonts/IBMPlexSans/complete/woff2/IBMPlexSans-Regular.woff2"),
    asset!("fonts/IBMPlexSans/complete/woff2/IBMPlexSans-Medium.woff2"),
    asset!("fonts/IBMPlexSans/complete/woff2/IBMPlexSans-SemiBold.woff2"),
    asset!("fonts/IBMPlexSans/complete/woff2/IBMPlexSans-Bold.woff2"),
    asset!("img/svg-icons/check.svg"),
    asset!("img/svg-icons/chevron-down.svg"),
    asset!("img/svg-icons/chevron-right.svg"),
    asset!("img/svg-icons/close.svg"),
    asset!("img/svg-icons/error.svg"),
    asset!("img/svg-icons/info.svg"),
    asset!("img/svg-icons/print.svg"),
    asset!("img/svg-icons/success.svg"),
    asset!("img/svg-icons/warning.svg"),
    asset!("LICENSE.md"),
];

fn media_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("woff2") => "font/woff2",
        Some("svg") => "image/svg+xml",
        _ => "text/plain; charset=utf-8",
    }
}

/// `GET /assets/dkfds/{*path}`.
pub async fn dkfds(Path(path): Path<String>) -> Response {
    match FILES.iter().find(|(p, _)| *p == path) {
        Some((p, bytes)) => (
            [
                (header::CONTENT_TYPE, media_type(p)),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
