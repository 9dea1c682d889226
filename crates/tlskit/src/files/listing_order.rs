//! The order of an HTML listing, read from its query: `?sort=name|size|time&order=asc|desc`.
//!
//! The query is untrusted input, and a listing is always served: parameters other than `sort` and
//! `order`, and values other than those above, are ignored and the default order (name, ascending)
//! stays, as nginx's fancyindex and Apache's mod_autoindex do with theirs. Values are matched as sent
//! (ASCII, case-sensitive, not percent-decoded: the links we write never encode them); the last valid
//! value of a parameter wins; at most [`MAX_PAIRS`] `&`-separated pairs are looked at. `sort` without
//! `order` takes the column's natural first order: names ascending, sizes and times descending.
//!
//! This file uses only `std`: the fuzz target `listing_query` compiles it by path.

/// `&`-separated pairs of a query looked at; the rest is ignored.
pub const MAX_PAIRS: usize = 32;

/// The column a listing is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// File name, byte order.
    #[default]
    Name,
    /// File size (directories, which have none, by name).
    Size,
    /// Modification time.
    Time,
}

impl SortKey {
    /// The query value: `name`, `size` or `time`.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Size => "size",
            SortKey::Time => "time",
        }
    }

    /// The order a first click on the column asks for: names A to Z, the largest and newest first.
    pub fn natural_order(self) -> SortOrder {
        match self {
            SortKey::Name => SortOrder::Asc,
            SortKey::Size | SortKey::Time => SortOrder::Desc,
        }
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Smallest, oldest, A first.
    #[default]
    Asc,
    /// Largest, newest, Z first.
    Desc,
}

impl SortOrder {
    /// The query value: `asc` or `desc`.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }

    /// The other direction.
    pub fn reversed(self) -> Self {
        match self {
            SortOrder::Asc => SortOrder::Desc,
            SortOrder::Desc => SortOrder::Asc,
        }
    }
}

/// How a listing is ordered. Directories always come before files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListingOrder {
    /// The column.
    pub key: SortKey,
    /// The direction.
    pub order: SortOrder,
}

impl ListingOrder {
    /// The order a request's query asks for (see the module documentation for what is ignored).
    ///
    /// ```
    /// use tlskit::files::{ListingOrder, SortKey, SortOrder};
    /// let o = ListingOrder::from_query(Some("sort=size&order=asc"));
    /// assert_eq!((o.key, o.order), (SortKey::Size, SortOrder::Asc));
    /// assert_eq!(ListingOrder::from_query(Some("sort=size")).order, SortOrder::Desc);
    /// assert_eq!(ListingOrder::from_query(Some("sort=%3Cscript%3E&v=2")), ListingOrder::default());
    /// ```
    pub fn from_query(query: Option<&str>) -> Self {
        let mut key = None;
        let mut order = None;
        for pair in query.unwrap_or("").split('&').take(MAX_PAIRS) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (name, value) {
                ("sort", "name") => key = Some(SortKey::Name),
                ("sort", "size") => key = Some(SortKey::Size),
                ("sort", "time") => key = Some(SortKey::Time),
                ("order", "asc") => order = Some(SortOrder::Asc),
                ("order", "desc") => order = Some(SortOrder::Desc),
                _ => {}
            }
        }
        let key = key.unwrap_or_default();
        ListingOrder { key, order: order.unwrap_or_else(|| key.natural_order()) }
    }

    /// Names ascending: what a listing without a query shows.
    pub fn is_default(self) -> bool {
        self == ListingOrder::default()
    }

    /// The query that asks for this order (without `?`): `sort=size&order=desc`.
    pub fn query(self) -> String {
        format!("sort={}&order={}", self.key.as_str(), self.order.as_str())
    }

    /// The order a click on `key`'s column header asks for: the other direction when the listing is
    /// already sorted by it, else the column's natural first order.
    pub fn toggled(self, key: SortKey) -> Self {
        let order = if self.key == key { self.order.reversed() } else { key.natural_order() };
        ListingOrder { key, order }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> (SortKey, SortOrder) {
        let o = ListingOrder::from_query(Some(q));
        (o.key, o.order)
    }

    #[test]
    fn known_values_and_their_defaults() {
        assert_eq!(parse(""), (SortKey::Name, SortOrder::Asc));
        assert_eq!(parse("sort=name&order=desc"), (SortKey::Name, SortOrder::Desc));
        assert_eq!(parse("order=desc&sort=time"), (SortKey::Time, SortOrder::Desc));
        assert_eq!(parse("sort=time&order=asc"), (SortKey::Time, SortOrder::Asc));
        assert_eq!(parse("sort=size"), (SortKey::Size, SortOrder::Desc));
        assert_eq!(parse("order=desc"), (SortKey::Name, SortOrder::Desc));
        assert_eq!(ListingOrder::from_query(None), ListingOrder::default());
    }

    #[test]
    fn junk_is_ignored_and_the_last_valid_value_wins() {
        assert_eq!(parse("sort=SIZE&order=down&x=1&&=&sort"), (SortKey::Name, SortOrder::Asc));
        assert_eq!(parse("sort=size&sort=bogus"), (SortKey::Size, SortOrder::Desc));
        assert_eq!(parse("sort=size&sort=time&order=asc"), (SortKey::Time, SortOrder::Asc));
        assert_eq!(parse("sort=%73ize"), (SortKey::Name, SortOrder::Asc));
        assert_eq!(parse("sort=size=desc"), (SortKey::Name, SortOrder::Asc));
        // Pairs past the bound are not looked at.
        let long = format!("{}sort=size", "x=1&".repeat(MAX_PAIRS));
        assert_eq!(parse(&long), (SortKey::Name, SortOrder::Asc));
    }

    #[test]
    fn header_links_toggle_the_active_column_only() {
        let by_name = ListingOrder::default();
        assert_eq!(by_name.toggled(SortKey::Name).query(), "sort=name&order=desc");
        assert_eq!(by_name.toggled(SortKey::Size).query(), "sort=size&order=desc");
        let by_size = by_name.toggled(SortKey::Size);
        assert_eq!(by_size.toggled(SortKey::Size).query(), "sort=size&order=asc");
        assert_eq!(by_size.toggled(SortKey::Time).query(), "sort=time&order=desc");
        for o in [by_name, by_size, by_size.toggled(SortKey::Size), by_name.toggled(SortKey::Time)] {
            assert_eq!(ListingOrder::from_query(Some(&o.query())), o, "{}", o.query());
        }
    }
}
