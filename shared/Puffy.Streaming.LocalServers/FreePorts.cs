using System.Net;
using System.Net.Sockets;

namespace Puffy.Streaming.LocalServers;

/// <summary>Free TCP ports on 127.0.0.1 for servers started on this machine.</summary>
public static class FreePorts
{
    /// <summary>
    /// A port the kernel reports free right now. Another process can take it before the server binds it, so
    /// starters retry with a fresh port when the server fails to listen.
    /// </summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
