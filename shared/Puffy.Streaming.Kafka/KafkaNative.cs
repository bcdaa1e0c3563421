using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Puffy.Streaming.Kafka;

/// <summary>
/// Loads the librdkafka that ships in the <c>librdkafka.redist</c> package, never a system copy. On Linux the
/// package's main build needs <c>libsasl2.so.3</c> (Debian 12 has .so.2) and fails to load, and .NET's default probing
/// would then find Debian's <c>librdkafka-dev</c> (2.0.2) first if it is installed: producing works with it, consuming
/// fails on a missing entry point. So the name <c>librdkafka</c> is resolved here, for Confluent.Kafka and for this
/// assembly's mock-cluster calls alike, to the first bundled build that loads: the main one, else the CentOS 8 build
/// (glibc, no SASL/GSSAPI dependency). Other platforms keep .NET's default probing.
/// </summary>
public static class KafkaNative
{
    private const string LibraryName = "librdkafka";
    private static readonly Lock Sync = new();
    private static bool _installed;
    private static nint _handle;

    /// <summary>The file librdkafka was loaded from; null before the first client or on non-Linux platforms.</summary>
    public static string? LoadedFrom { get; private set; }

    /// <summary>The bundled files tried, in order, on this machine.</summary>
    public static IReadOnlyList<string> Candidates()
    {
        var rid = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.Arm64 => "linux-arm64",
            _ => "linux-x64",
        };
        var folders = new[] { Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native"), AppContext.BaseDirectory };
        return folders.SelectMany(f => new[] { Path.Combine(f, "librdkafka.so"), Path.Combine(f, "centos8-librdkafka.so") }).ToList();
    }

    /// <summary>Installs the resolver (idempotent). Runs when this assembly loads and before every client is built.</summary>
    public static void EnsureResolver()
    {
        if (!OperatingSystem.IsLinux())
            return;
        lock (Sync)
        {
            if (_installed)
                return;
            NativeLibrary.SetDllImportResolver(typeof(Confluent.Kafka.Library).Assembly, Resolve);
            NativeLibrary.SetDllImportResolver(typeof(KafkaNative).Assembly, Resolve);
            _installed = true;
        }
    }

    /// <summary>librdkafka's version and where it was loaded from, for the service start-up log.</summary>
    public static string Describe()
    {
        EnsureResolver();
        var version = Confluent.Kafka.Library.VersionString;
        return LoadedFrom is { } path ? $"{version} ({path})" : version;
    }

#pragma warning disable CA2255 // The resolver must be in place before Confluent.Kafka first calls into librdkafka.
    [ModuleInitializer]
    internal static void OnLoad() => EnsureResolver();
#pragma warning restore CA2255

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name == "libdl")
            return NativeLibrary.TryLoad("libdl.so.2", out var dl) ? dl : 0;
        if (name != LibraryName && name != "centos8-librdkafka" && name != "alpine-librdkafka")
            return 0;
        lock (Sync)
        {
            if (_handle != 0)
                return _handle;
            foreach (var candidate in Candidates())
            {
                if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out var handle))
                {
                    _handle = handle;
                    LoadedFrom = candidate;
                    return handle;
                }
            }
        }

        throw new DllNotFoundException(
            $"the bundled librdkafka (package librdkafka.redist) could not be loaded; tried {string.Join(", ", Candidates())}");
    }
}
