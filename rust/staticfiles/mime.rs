//! Content-Type by file extension: nginx's `mime.types` (1.24), plus the web types it lacks
//! (`.mjs`, `.wasm`, `.webmanifest`, `.map`, `.avif`), extensible by `Static(mimetypes=)`.
//! Text types get `; charset=utf-8`, as WhiteNoise and Django's static view send them.

/// nginx's table, extension to type (lowercase).
const TYPES: &[(&str, &str)] = &[
    ("html", "text/html"),
    ("htm", "text/html"),
    ("shtml", "text/html"),
    ("css", "text/css"),
    ("xml", "text/xml"),
    ("gif", "image/gif"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("atom", "application/atom+xml"),
    ("rss", "application/rss+xml"),
    ("mml", "text/mathml"),
    ("txt", "text/plain"),
    ("jad", "text/vnd.sun.j2me.app-descriptor"),
    ("wml", "text/vnd.wap.wml"),
    ("htc", "text/x-component"),
    ("avif", "image/avif"),
    ("png", "image/png"),
    ("svg", "image/svg+xml"),
    ("svgz", "image/svg+xml"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("wbmp", "image/vnd.wap.wbmp"),
    ("webp", "image/webp"),
    ("ico", "image/x-icon"),
    ("jng", "image/x-jng"),
    ("bmp", "image/x-ms-bmp"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    ("jar", "application/java-archive"),
    ("war", "application/java-archive"),
    ("ear", "application/java-archive"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("webmanifest", "application/manifest+json"),
    ("hqx", "application/mac-binhex40"),
    ("doc", "application/msword"),
    ("pdf", "application/pdf"),
    ("ps", "application/postscript"),
    ("eps", "application/postscript"),
    ("ai", "application/postscript"),
    ("rtf", "application/rtf"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("kml", "application/vnd.google-earth.kml+xml"),
    ("kmz", "application/vnd.google-earth.kmz"),
    ("xls", "application/vnd.ms-excel"),
    ("eot", "application/vnd.ms-fontobject"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("odg", "application/vnd.oasis.opendocument.graphics"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("wmlc", "application/vnd.wap.wmlc"),
    ("wasm", "application/wasm"),
    ("7z", "application/x-7z-compressed"),
    ("cco", "application/x-cocoa"),
    ("jardiff", "application/x-java-archive-diff"),
    ("jnlp", "application/x-java-jnlp-file"),
    ("run", "application/x-makeself"),
    ("pl", "application/x-perl"),
    ("pm", "application/x-perl"),
    ("prc", "application/x-pilot"),
    ("pdb", "application/x-pilot"),
    ("rar", "application/x-rar-compressed"),
    ("rpm", "application/x-redhat-package-manager"),
    ("sea", "application/x-sea"),
    ("swf", "application/x-shockwave-flash"),
    ("sit", "application/x-stuffit"),
    ("tcl", "application/x-tcl"),
    ("tk", "application/x-tcl"),
    ("der", "application/x-x509-ca-cert"),
    ("pem", "application/x-x509-ca-cert"),
    ("crt", "application/x-x509-ca-cert"),
    ("xpi", "application/x-xpinstall"),
    ("xhtml", "application/xhtml+xml"),
    ("xspf", "application/xspf+xml"),
    ("zip", "application/zip"),
    ("bin", "application/octet-stream"),
    ("exe", "application/octet-stream"),
    ("dll", "application/octet-stream"),
    ("deb", "application/octet-stream"),
    ("dmg", "application/octet-stream"),
    ("iso", "application/octet-stream"),
    ("img", "application/octet-stream"),
    ("msi", "application/octet-stream"),
    ("msp", "application/octet-stream"),
    ("msm", "application/octet-stream"),
    ("mid", "audio/midi"),
    ("midi", "audio/midi"),
    ("kar", "audio/midi"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("m4a", "audio/x-m4a"),
    ("ra", "audio/x-realaudio"),
    ("3gpp", "video/3gpp"),
    ("3gp", "video/3gpp"),
    ("ts", "video/mp2t"),
    ("mp4", "video/mp4"),
    ("mpeg", "video/mpeg"),
    ("mpg", "video/mpeg"),
    ("mov", "video/quicktime"),
    ("webm", "video/webm"),
    ("flv", "video/x-flv"),
    ("m4v", "video/x-m4v"),
    ("mng", "video/x-mng"),
    ("asx", "video/x-ms-asf"),
    ("asf", "video/x-ms-asf"),
    ("wmv", "video/x-ms-wmv"),
    ("avi", "video/x-msvideo"),
];

/// What files with no known extension are served as.
pub const DEFAULT_TYPE: &str = "application/octet-stream";

/// The Content-Type of `name`: `extra` (the user's `mimetypes`, lowercase extensions
/// without the dot) first, then the table; text types with a UTF-8 charset.
pub fn content_type(name: &[u8], extra: &[(String, String)]) -> String {
    let ext = name
        .iter()
        .rposition(|&b| b == b'.')
        .and_then(|dot| name.get(dot + 1..))
        .map(|ext| String::from_utf8_lossy(ext).to_ascii_lowercase())
        .unwrap_or_default();
    let found = extra
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, t)| t.as_str())
        .or_else(|| TYPES.iter().find(|(e, _)| *e == ext).map(|(_, t)| *t))
        .unwrap_or(DEFAULT_TYPE);
    with_charset(found)
}

/// `text/*`, and the textual application types, get `; charset=utf-8` unless they name one.
fn with_charset(media_type: &str) -> String {
    let textual = media_type.starts_with("text/")
        || matches!(
            media_type,
            "application/json"
                | "application/manifest+json"
                | "application/xhtml+xml"
                | "application/atom+xml"
                | "application/rss+xml"
                | "image/svg+xml"
        );
    if textual && !media_type.to_ascii_lowercase().contains("charset=") {
        format!("{media_type}; charset=utf-8")
    } else {
        media_type.to_owned()
    }
}

/// A strong ETag from what `stat` says (as nginx and WhiteNoise make it): the same file
/// gives the same tag in every process and after a restart, a changed one a new tag.
pub fn etag(mtime_seconds: i64, size: u64) -> String {
    format!("\"{:x}-{:x}\"", mtime_seconds.max(0), size)
}

#[cfg(test)]
#[path = "mime_tests.rs"]
mod tests;
