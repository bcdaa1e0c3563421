using System.Runtime.CompilerServices;

// The low-level varint and block primitives stay internal; the unit tests check them against the spec's vectors.
[assembly: InternalsVisibleTo("Puffy.Streaming.UnitTests")]
