//! Text and JSON renderings of dissector events.
