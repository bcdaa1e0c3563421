using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Puffy.Streaming.Testing;

/// <summary>
/// An HTTP server for tests: a listener on a free 127.0.0.1 port that hands every request to <paramref name="handle"/>
/// until disposed. Stands in for the HTTP servers the product talks to (Seq, a Schema Registry, a webhook).
/// </summary>
internal sealed class LoopbackHttpServer : IDisposable
{
    // Only a guard against a hanging test; a passing test never waits on it.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly HttpListener _listener;
    private readonly Func<HttpListenerContext, Task> _handle;
    private readonly Task _loop;
    private int _disposed;

    public LoopbackHttpServer(Func<HttpListenerContext, Task> handle)
    {
        _handle = handle;
        (_listener, Url) = Listen();
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>The server's root, <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri Url { get; }

    /// <summary>Stops listening (a request after this fails to connect) and waits for the serving loop; idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        _listener.Close();
        _loop.Wait(Patience);
    }

    private static (HttpListener Listener, Uri Url) Listen()
    {
        for (var attempt = 1; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();

            var url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
            var listener = new HttpListener();
            listener.Prefixes.Add(url.ToString());
            try
            {
                listener.Start();
                return (listener, url);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                // Another process took the port between the probe and the listener; pick another.
                listener.Close();
            }
        }
    }

    private async Task ServeAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                await _handle(context);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client gave up on this request; serve the next one.
            }
        }
    }
}
