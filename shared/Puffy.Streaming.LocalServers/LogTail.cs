using System.Text;

namespace Puffy.Streaming.LocalServers;

internal static class LogTail
{
    private const int Lines = 20;

    /// <summary>The last lines of each existing file, for the message of a server that did not start.</summary>
    public static string Of(params string[] files)
    {
        var text = new StringBuilder();
        foreach (var file in files)
        {
            if (!File.Exists(file))
                continue;
            try
            {
                // The server may still be writing: share the file instead of locking it.
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                var tail = new Queue<string>();
                while (reader.ReadLine() is { } line)
                {
                    tail.Enqueue(line);
                    if (tail.Count > Lines)
                        tail.Dequeue();
                }

                text.Append("\n--- ").Append(file).Append(" (last lines) ---\n").AppendJoin('\n', tail);
            }
            catch (IOException)
            {
                // a log that cannot be read adds nothing to the message
            }
        }

        return text.Length == 0 ? "\n(no log output)" : text.ToString();
    }
}
