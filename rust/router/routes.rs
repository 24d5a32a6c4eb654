//! The routes and mounts a Router is given, before they are compiled: conflict detection,
//! names and prefixes (pure: no pyo3; `A` is whatever the caller keeps as the app).

use std::collections::HashMap;

use super::pattern::Pattern;
use super::table::Methods;

pub struct Route<A> {
    pub pattern: Pattern,
    pub methods: Methods,
    pub app: A,
}

pub struct Builder<A> {
    pub routes: Vec<Route<A>>,
    /// Route indexes by pattern shape and by name: conflicts are found without a scan.
    shapes: HashMap<String, Vec<usize>>,
    names: HashMap<String, usize>,
    pub mounts: Vec<(String, A)>,
    /// Set when the table is compiled (first request): no more changes.
    pub frozen: bool,
}

impl<A> Default for Builder<A> {
    fn default() -> Self {
        Builder {
            routes: Vec::new(),
            shapes: HashMap::new(),
            names: HashMap::new(),
            mounts: Vec::new(),
            frozen: false,
        }
    }
}

/// Methods as the error messages show them.
pub fn show(methods: &Methods) -> String {
    match methods {
        Methods::Any => "*".to_owned(),
        Methods::Only(list) => list.join(", "),
    }
}

/// A mount prefix starts with "/" and does not end with one. The error is the whole message.
fn check_prefix(prefix: &str) -> Result<(), String> {
    if !prefix.starts_with('/') || prefix.ends_with('/') {
        return Err(format!(
            "Router.mount(prefix={prefix:?}): prefix must start with '/' and not end with '/' (like \"/api\"); use default= for the root"
        ));
    }
    Ok(())
}

impl<A> Builder<A> {
    /// Add a route. Refused (the whole message, naming both routes) when a route of the same
    /// pattern shape takes an overlapping method, or when the name is taken.
    pub fn add(
        &mut self,
        path: &str,
        pattern: Pattern,
        methods: Methods,
        app: A,
        name: Option<String>,
    ) -> Result<(), String> {
        let shape = pattern.shape();
        let clash = self.shapes.get(&shape).and_then(|same| {
            same.iter()
                .filter_map(|&i| self.routes.get(i))
                .find(|r| r.methods.overlaps(&methods))
        });
        if let Some(other) = clash {
            return Err(format!(
                "Router.add(path={path:?}): conflicts with the route {:?} (same pattern; methods [{}] and [{}] overlap)",
                other.pattern.template,
                show(&other.methods),
                show(&methods)
            ));
        }
        if let Some(name) = &name {
            if let Some(other) = self.named(name) {
                return Err(format!(
                    "Router.add(name={name:?}): the name is already used by the route {:?}",
                    other.pattern.template
                ));
            }
        }
        let index = self.routes.len();
        self.shapes.entry(shape).or_default().push(index);
        if let Some(name) = name {
            self.names.insert(name, index);
        }
        self.routes.push(Route {
            pattern,
            methods,
            app,
        });
        Ok(())
    }

    /// Mount `app` under `prefix` (checked by [`check_prefix`]); a prefix mounts once.
    pub fn mount(&mut self, prefix: String, app: A) -> Result<(), String> {
        check_prefix(&prefix)?;
        if self.mounts.iter().any(|(p, _)| *p == prefix) {
            return Err(format!(
                "Router.mount(prefix={prefix:?}): prefix is already mounted"
            ));
        }
        self.mounts.push((prefix, app));
        Ok(())
    }

    /// Routes are compiled once, on the first request: `Router.{what}()` after it is refused
    /// (the whole message).
    pub fn check_open(&self, what: &str) -> Result<(), String> {
        if self.frozen {
            return Err(format!(
                "Router.{what}(): routes are compiled once, on the first request, and cannot change after it; add all routes before serving"
            ));
        }
        Ok(())
    }

    /// The pattern of the route called `name`, for `url_for` (the whole message when no
    /// route has that name).
    pub fn pattern_named(&self, name: &str) -> Result<Pattern, String> {
        match self.named(name) {
            Some(route) => Ok(route.pattern.clone()),
            None => Err(format!(
                "Router.url_for(name={name:?}): no route has this name"
            )),
        }
    }

    /// Every app added: the routes', then the mounts'.
    pub fn apps(&self) -> impl Iterator<Item = &A> {
        let routes = self.routes.iter().map(|route| &route.app);
        routes.chain(self.mounts.iter().map(|(_, app)| app))
    }

    /// The route called `name`.
    pub fn named(&self, name: &str) -> Option<&Route<A>> {
        self.names.get(name).and_then(|&i| self.routes.get(i))
    }
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
