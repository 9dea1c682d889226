//! The macro behind every typed protocol number (after rustls's `enum_builder!`): a registry written once as
//! `Variant = number => "name"` lines becomes an enum with an `Unknown` arm, conversions both ways, its
//! [`Codec`](super::Codec), `name()` and `Display`.

/// Declares a protocol-number enum.
///
/// ```text
/// enum_builder! {
///     /// What the enum is.
///     pub enum AlertLevel: u8 (unknown "unknown") {
///         /// What the value is.
///         Warning = 1 => "warning",
///     }
/// }
/// ```
///
/// The name after `=>` may be left out when it is the variant's own spelling (the IANA cipher suite names).
/// `unknown` says what `name()` returns for a number the registry does not name: a string, or `hex` for
/// `"unknown"` from `name()` and `0x1234` from `Display`. `grease` makes GREASE values (RFC 8701) name
/// themselves `GREASE`.
macro_rules! enum_builder {
    (
        $(#[$meta:meta])*
        pub enum $name:ident: $ty:ident (unknown $unknown:tt $(, $grease:ident)?) {
            $( $(#[$vmeta:meta])* $var:ident = $val:literal $(=> $vname:literal)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $var, )*
            /// A number this registry does not name (kept as it was on the wire).
            Unknown($ty),
        }

        impl $name {
            /// Every value the registry names, in registry order.
            pub const ALL: &'static [Self] = &[$( Self::$var, )*];

            /// The value of a number read from the wire.
            pub const fn new(v: $ty) -> Self {
                match v {
                    $( $val => Self::$var, )*
                    other => Self::Unknown(other),
                }
            }

            /// The number as it goes on the wire.
            pub const fn value(self) -> $ty {
                match self {
                    $( Self::$var => $val, )*
                    Self::Unknown(v) => v,
                }
            }

            $(
            /// Whether the value is a GREASE value (RFC 8701), which a peer sends to keep the registry open.
            pub fn is_grease(self) -> bool {
                matches!(self, Self::Unknown(v) if $crate::codec::enum_builder!(@grease $grease v))
            }
            )?

            /// The registry's name for the value.
            pub fn name(self) -> &'static str {
                match self {
                    $( Self::$var => $crate::codec::enum_builder!(@name $var $($vname)?), )*
                    $( Self::Unknown(v) if $crate::codec::enum_builder!(@grease $grease v) => "GREASE", )?
                    Self::Unknown(_) => $crate::codec::enum_builder!(@unknown $unknown),
                }
            }
        }

        impl From<$ty> for $name {
            fn from(v: $ty) -> Self {
                Self::new(v)
            }
        }

        impl From<$name> for $ty {
            fn from(v: $name) -> Self {
                v.value()
            }
        }

        impl $crate::codec::Codec for $name {
            fn read(r: &mut $crate::codec::Reader<'_>) -> Option<Self> {
                <$ty as $crate::codec::Codec>::read(r).map(Self::new)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                $crate::codec::enum_builder!(@display self f $unknown)
            }
        }
    };
    (@name $var:ident $vname:literal) => { $vname };
    (@name $var:ident) => { stringify!($var) };
    (@grease grease $v:ident) => { $crate::codec::is_grease($v) };
    (@unknown hex) => { "unknown" };
    (@unknown $unknown:literal) => { $unknown };
    (@display $self:ident $f:ident hex) => {
        match $self {
            Self::Unknown(v) => write!($f, "0x{v:04x}"),
            known => $f.write_str(known.name()),
        }
    };
    (@display $self:ident $f:ident $unknown:literal) => { $f.write_str($self.name()) };
}

pub(crate) use enum_builder;
