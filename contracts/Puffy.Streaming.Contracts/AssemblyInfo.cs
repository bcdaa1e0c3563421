using System.Diagnostics.CodeAnalysis;

// Apache Avro finds a specific record's class by the schema's full name (puffy.streaming.v1.ValidEvent), so the
// generated records live in the schemas' lower-case namespace beside this assembly's Puffy.Streaming.Contracts.
[assembly: SuppressMessage("Naming", "CA1708:Identifiers should differ by more than case", Justification = "Avro namespace of the generated records")]
