//! The compiled route table: a segment trie matched in priority order (static, int, re,
//! str, path), so the cost of a match depends on the path's depth, not on the route count.
//! Pure (no pyo3): routes are numbered, the Python side keeps the apps.

use std::collections::HashMap;

use super::pattern::{Converter, Pattern, Segment};

/// The methods a route answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Methods {
    Any,
    /// Uppercase, sorted, deduplicated; HEAD added when GET is there.
    Only(Vec<String>),
}

impl Methods {
    pub fn new(methods: impl IntoIterator<Item = String>) -> Result<Methods, String> {
        let mut list: Vec<String> = Vec::new();
        for method in methods {
            let method = method.trim().to_ascii_uppercase();
            if method == "*" {
                return Ok(Methods::Any);
            }
            if method.is_empty()
                || !method
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!("{method:?} is not an HTTP method"));
            }
            list.push(method);
        }
        if list.is_empty() {
            return Err("no methods given".to_owned());
        }
        if list.iter().any(|m| m == "GET") {
            list.push("HEAD".to_owned());
        }
        list.sort();
        list.dedup();
        Ok(Methods::Only(list))
    }

    pub fn allows(&self, method: &str) -> bool {
        match self {
            Methods::Any => true,
            Methods::Only(list) => list.iter().any(|m| m == method),
        }
    }

    pub fn overlaps(&self, other: &Methods) -> bool {
        match (self, other) {
            (Methods::Only(a), Methods::Only(b)) => a.iter().any(|m| b.contains(m)),
            _ => true,
        }
    }
}

#[derive(Default)]
struct Node {
    statics: HashMap<String, Node, lru::DefaultHasher>,
    /// Converters at this position, tried in rank order (int, re, str, path); routes with
    /// the same converter (and regex) share a child.
    params: Vec<(Converter, Node)>,
    /// Routes ending here without / with a trailing slash, in the order added.
    end: Vec<usize>,
    end_slash: Vec<usize>,
}

impl Node {
    /// The child for `segment`, created if needed (None only if the vector lied to us).
    fn child(&mut self, segment: &Segment) -> Option<&mut Node> {
        match segment {
            Segment::Static(text) => Some(self.statics.entry(text.clone()).or_default()),
            Segment::Param { converter, .. } => {
                let same = |c: &Converter| match (c, converter) {
                    (Converter::Re { source: a, .. }, Converter::Re { source: b, .. }) => a == b,
                    (a, b) => a.rank() == b.rank() && !matches!(a, Converter::Re { .. }),
                };
                let index = match self.params.iter().position(|(c, _)| same(c)) {
                    Some(index) => index,
                    None => {
                        // Keep rank order; equal ranks (several regexes) in insertion order.
                        let at = self
                            .params
                            .iter()
                            .position(|(c, _)| c.rank() > converter.rank())
                            .unwrap_or(self.params.len());
                        self.params.insert(at, (converter.clone(), Node::default()));
                        at
                    }
                };
                self.params.get_mut(index).map(|(_, node)| node)
            }
        }
    }
}

/// A request path split for matching: segments with their byte offsets.
pub struct SplitPath<'a> {
    path: &'a str,
    segments: Vec<(usize, &'a str)>,
    trailing_slash: bool,
}

impl<'a> SplitPath<'a> {
    /// `""` and `"/"` are the root.
    pub fn new(path: &'a str) -> Self {
        let body = path.strip_prefix('/').unwrap_or(path);
        let offset = path.len() - body.len();
        let (body, trailing_slash) = match body.strip_suffix('/') {
            Some(body) => (body, true),
            None => (body, false),
        };
        let mut segments = Vec::with_capacity(8);
        if !body.is_empty() || trailing_slash {
            // Split on the byte: "/" is ASCII, so every piece is on a char boundary (and this
            // is several times faster than splitting on a char pattern).
            let mut start = 0;
            for piece in body.as_bytes().split(|&b| b == b'/') {
                let end = start + piece.len();
                segments.push((offset + start, body.get(start..end).unwrap_or("")));
                start = end + 1;
            }
        }
        SplitPath {
            path,
            segments,
            trailing_slash,
        }
    }
}

/// Parameter values captured for one candidate, in the route's parameter order.
pub type Captures<'a> = Vec<&'a str>;

pub struct Table {
    root: Node,
    /// Routes made of static segments only, by their exact path. Static text outranks any
    /// parameter at every segment, so when one of these allows the method it is the match:
    /// one hash of the whole path instead of a walk.
    exact: HashMap<String, Vec<usize>, lru::DefaultHasher>,
    routes: Vec<(Pattern, Methods)>,
}

/// The result of matching one request.
pub enum Match<'a> {
    Found {
        route: usize,
        values: Captures<'a>,
    },
    /// The path matches these routes, none for this method: the union of their methods.
    WrongMethod(Vec<String>),
    NotFound,
}

impl Table {
    pub fn new(routes: Vec<(Pattern, Methods)>) -> Table {
        let mut root = Node::default();
        let mut exact: HashMap<String, Vec<usize>, lru::DefaultHasher> = HashMap::default();
        for (index, (pattern, _)) in routes.iter().enumerate() {
            if pattern
                .segments
                .iter()
                .all(|s| matches!(s, Segment::Static(_)))
            {
                exact
                    .entry(pattern.template.clone())
                    .or_default()
                    .push(index);
            }
            let mut node = Some(&mut root);
            for segment in &pattern.segments {
                node = node.and_then(|n| n.child(segment));
            }
            let Some(node) = node else {
                continue;
            };
            if pattern.trailing_slash {
                node.end_slash.push(index);
            } else {
                node.end.push(index);
            }
        }
        Table {
            root,
            exact,
            routes,
        }
    }

    pub fn methods(&self, route: usize) -> Option<&Methods> {
        self.routes.get(route).map(|(_, m)| m)
    }

    /// Match `path` for `method`, in priority order; a candidate with the wrong method lets
    /// lower-priority candidates try (as Werkzeug does).
    pub fn find<'a>(&self, path: &'a str, method: &str) -> Match<'a> {
        let whole = if path.is_empty() { "/" } else { path };
        if let Some(routes) = self.exact.get(whole) {
            let allowed = routes
                .iter()
                .find(|&&route| self.methods(route).is_some_and(|m| m.allows(method)));
            if let Some(&route) = allowed {
                return Match::Found {
                    route,
                    values: Vec::new(),
                };
            }
        }
        let split = SplitPath::new(path);
        let mut values = Vec::new();
        let mut allowed: Vec<String> = Vec::new();
        let mut seen = false;
        let mut found = None;
        self.walk(&self.root, &split, 0, &mut values, &mut |route, values| {
            seen = true;
            match self.methods(route) {
                Some(methods) if methods.allows(method) => {
                    found = Some((route, values.to_vec()));
                    true
                }
                Some(Methods::Only(list)) => {
                    allowed.extend(list.iter().cloned());
                    false
                }
                _ => false,
            }
        });
        match found {
            Some((route, values)) => Match::Found { route, values },
            None if seen => {
                allowed.sort();
                allowed.dedup();
                Match::WrongMethod(allowed)
            }
            None => Match::NotFound,
        }
    }

    /// Depth-first in priority order; `visit` returns true to stop.
    fn walk<'a>(
        &self,
        node: &Node,
        path: &SplitPath<'a>,
        depth: usize,
        values: &mut Captures<'a>,
        visit: &mut dyn FnMut(usize, &Captures<'a>) -> bool,
    ) -> bool {
        let Some(&(offset, segment)) = path.segments.get(depth) else {
            let ends = if path.trailing_slash {
                &node.end_slash
            } else {
                &node.end
            };
            return ends.iter().any(|&route| visit(route, values));
        };
        if let Some(child) = node.statics.get(segment) {
            if self.walk(child, path, depth + 1, values, visit) {
                return true;
            }
        }
        for (converter, child) in &node.params {
            if let Converter::Path = converter {
                // The rest of the path, slashes (and a trailing one) included.
                let rest = path.path.get(offset..).unwrap_or("");
                if converter.accepts(rest) && !rest.starts_with('/') {
                    values.push(rest);
                    let stop = child.end.iter().any(|&route| visit(route, values));
                    values.pop();
                    if stop {
                        return true;
                    }
                }
            } else if converter.accepts(segment) {
                values.push(segment);
                let stop = self.walk(child, path, depth + 1, values, visit);
                values.pop();
                if stop {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
