using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Puffy.Streaming.ClickHouse;

/// <summary>
/// A small client for ClickHouse's HTTP interface that works the same against 18.16 and current servers: SQL in the
/// POST body, INSERT data as RowBinary or JSONEachRow, results as JSONEachRow, settings as URL parameters.
/// Server errors become <see cref="ClickHouseException"/>; only connection failures are retried.
/// </summary>
public sealed partial class ClickHouseClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ClickHouseOptions _options;
    private readonly string _baseQuery;
    private readonly Uri _baseUrl;
    private readonly string? _user;
    private readonly string? _password;

    public ClickHouseClient(ClickHouseOptions options, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!IdentifierPattern().IsMatch(options.Database))
            throw new ArgumentException($"database name '{options.Database}' is not a plain identifier", nameof(options));
        _options = options;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = options.Timeout };
        var query = new StringBuilder();
        foreach (var (name, value) in options.Settings)
            query.Append('&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
        _baseQuery = query.ToString();

        // Credentials in the URL (http://user:password@host:8123/) become the headers; the URL requested carries none.
        _baseUrl = options.BaseUrl;
        _user = options.User;
        _password = options.Password;
        if (options.BaseUrl.UserInfo is { Length: > 0 } userInfo)
        {
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            _user ??= Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
            _password ??= colon < 0 ? null : Uri.UnescapeDataString(userInfo[(colon + 1)..]);
            _baseUrl = new UriBuilder(options.BaseUrl) { UserName = string.Empty, Password = string.Empty }.Uri;
        }

        if (!string.IsNullOrEmpty(options.PasswordFile))
            _password = File.ReadAllText(options.PasswordFile).Trim();
    }

    public string Database => _options.Database;

    /// <summary><c>GET /ping</c>: true when the server answers <c>Ok.</c>.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(_baseUrl, "ping"), cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return response.IsSuccessStatusCode && body.StartsWith("Ok.", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // the client's timeout: a server that accepts but does not answer is not ready
        }
    }

    /// <summary>Runs a statement (DDL, INSERT ... SELECT, OPTIMIZE) in the client's database.</summary>
    public Task ExecuteAsync(string sql, CancellationToken cancellationToken = default) =>
        SendAsync(sql, null, useDatabase: true, cancellationToken);

    /// <summary>Runs a SELECT and returns its rows; appends <c>FORMAT JSONEachRow</c>. 64-bit integers come back as numbers.</summary>
    public async Task<IReadOnlyList<JsonElement>> QueryJsonEachRowAsync(string sql, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var text = await SendAsync(
            sql.TrimEnd().TrimEnd(';') + "\nFORMAT JSONEachRow", null, useDatabase: true, cancellationToken,
            _options.ReadOnly ? "&wait_end_of_query=1" : "&wait_end_of_query=1&output_format_json_quote_64bit_integers=0");
        var rows = new List<JsonElement>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0)
                continue;
            // Without buffering an error can follow rows already sent with status 200.
            if (line.StartsWith("Code: ", StringComparison.Ordinal))
                throw ClickHouseException.TryParse(line, 200, sql) ?? new ClickHouseException(line);
            using var doc = JsonDocument.Parse(line);
            rows.Add(doc.RootElement.Clone());
        }

        return rows;
    }

    /// <summary>Runs a SELECT and returns its rows as column name → value.</summary>
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, JsonElement>>> QueryRowsAsync(string sql, CancellationToken cancellationToken = default)
    {
        var rows = await QueryJsonEachRowAsync(sql, cancellationToken);
        return rows.Select(r => (IReadOnlyDictionary<string, JsonElement>)r.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal)).ToList();
    }

    /// <summary>Runs a query that returns one value and gives it as text (TabSeparated, unescaped for plain values).</summary>
    public async Task<string> QueryScalarAsync(string sql, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var text = await SendAsync(sql.TrimEnd().TrimEnd(';') + "\nFORMAT TabSeparated", null, useDatabase: true, cancellationToken, "&wait_end_of_query=1");
        return text.TrimEnd('\n');
    }

    /// <summary>
    /// Inserts rows as JSONEachRow. Values: string, integers, double, decimal (sent as a JSON number: 18.16 rejects
    /// strings), bool (0/1), DateTime (unix seconds), DateOnly ("yyyy-MM-dd"), string lists, null.
    /// </summary>
    public async Task InsertAsync(string table, IEnumerable<IReadOnlyDictionary<string, object?>> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            foreach (var row in rows)
            {
                json.WriteStartObject();
                foreach (var (name, value) in row)
                {
                    json.WritePropertyName(name);
                    WriteJsonValue(json, value);
                }

                json.WriteEndObject();
                json.Flush();
                stream.WriteByte((byte)'\n');
                json.Reset();
            }
        }

        if (stream.Length == 0)
            return;
        await SendAsync($"INSERT INTO {Qualify(table)} FORMAT JSONEachRow", stream.ToArray(), useDatabase: true, cancellationToken);
    }

    /// <summary>Inserts rows already encoded as RowBinary, columns in the order given.</summary>
    public async Task InsertRowBinaryAsync(string table, IReadOnlyList<string> columns, ReadOnlyMemory<byte> rowBinary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (rowBinary.IsEmpty)
            return;
        foreach (var c in columns)
        {
            if (!IdentifierPattern().IsMatch(c))
                throw new ArgumentException($"column name '{c}' is not a plain identifier", nameof(columns));
        }

        await SendAsync($"INSERT INTO {Qualify(table)} ({string.Join(", ", columns)}) FORMAT RowBinary", rowBinary, useDatabase: true, cancellationToken);
    }

    /// <summary>
    /// Applies the DDL files of a folder (<c>infra/clickhouse</c>) in file-name order: comment lines dropped, statements
    /// split on a ';' at the end of a line, <c>{db}</c> replaced by <see cref="Database"/>. Returns the statements run.
    /// </summary>
    public async Task<int> ApplySchemaAsync(string folder, CancellationToken cancellationToken = default)
    {
        var files = Directory.GetFiles(folder, "*.sql");
        if (files.Length == 0)
            throw new FileNotFoundException($"no .sql files in {folder}");
        Array.Sort(files, StringComparer.Ordinal);
        var count = 0;
        foreach (var file in files)
        {
            var text = await File.ReadAllTextAsync(file, cancellationToken);
            foreach (var statement in SplitStatements(text))
            {
                // The database may not exist yet, so DDL runs without the database parameter and names it itself.
                await SendAsync(statement.Replace("{db}", Database, StringComparison.Ordinal), null, useDatabase: false, cancellationToken);
                count++;
            }
        }

        return count;
    }

    /// <summary>Splits a DDL file into statements: drops whole-line <c>--</c> comments, splits on ';' at a line end.</summary>
    public static IReadOnlyList<string> SplitStatements(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var statements = new List<string>();
        var current = new StringBuilder();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r', ' ', '\t');
            if (line.TrimStart().StartsWith("--", StringComparison.Ordinal))
                continue;
            if (line.EndsWith(';'))
            {
                current.AppendLine(line[..^1]);
                Add();
            }
            else
            {
                current.AppendLine(line);
            }
        }

        Add();
        return statements;

        void Add()
        {
            var s = current.ToString().Trim();
            if (s.Length > 0)
                statements.Add(s);
            current.Clear();
        }
    }

    /// <summary>A ClickHouse string literal (single quotes, backslash escapes): the only safe way to put a value in SQL
    /// that must also run on 18.16, which has no query parameters.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new StringBuilder(value.Length + 2).Append('\'');
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '\'': sb.Append(@"\'"); break;
                case '\n': sb.Append(@"\n"); break;
                case '\r': sb.Append(@"\r"); break;
                case '\t': sb.Append(@"\t"); break;
                case '\0': sb.Append(@"\0"); break;
                default: sb.Append(c); break;
            }
        }

        return sb.Append('\'').ToString();
    }

    /// <summary><c>database.table</c> for a plain table name.</summary>
    public string Qualify(string table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (!IdentifierPattern().IsMatch(table))
            throw new ArgumentException($"table name '{table}' is not a plain identifier", nameof(table));
        return Database + "." + table;
    }

    private async Task<string> SendAsync(string sql, ReadOnlyMemory<byte>? data, bool useDatabase, CancellationToken cancellationToken, string extraQuery = "")
    {
        // With data, the statement goes in the URL and the body is the rows; otherwise the statement is the body.
        var query = new StringBuilder();
        if (useDatabase)
            query.Append("&database=").Append(Uri.EscapeDataString(Database));
        if (data is not null)
            query.Append("&query=").Append(Uri.EscapeDataString(sql));
        query.Append(_baseQuery).Append(extraQuery);
        if (query.Length > 0)
            query[0] = '?';
        var uri = new Uri(_baseUrl, query.ToString());
        var body = data ?? Encoding.UTF8.GetBytes(sql);

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, uri);
                request.Content = new ReadOnlyMemoryContent(body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(data is null ? "text/plain" : "application/octet-stream");
                if (_user is { Length: > 0 } user)
                    request.Headers.Add("X-ClickHouse-User", user);
                if (_password is { Length: > 0 } password)
                    request.Headers.Add("X-ClickHouse-Key", password);
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                if (!response.IsSuccessStatusCode)
                    throw ClickHouseException.TryParse(text, (int)response.StatusCode, sql) ?? new ClickHouseException(ExceptionCode(response), Truncate(text), (int)response.StatusCode, sql);
                if (text.StartsWith("Code: ", StringComparison.Ordinal))
                    throw ClickHouseException.TryParse(text, (int)response.StatusCode, sql)!;
                return text;
            }
            catch (Exception e) when (IsConnectionFailure(e, cancellationToken) && attempt < _options.MaxRetries)
            {
                var delay = _options.RetryDelay * Math.Pow(2, attempt);
                await Task.Delay(delay, cancellationToken);
            }
        }
    }

    private static int ExceptionCode(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-ClickHouse-Exception-Code", out var values)
        && int.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var code) ? code : 0;

    private static string Truncate(string text) => text.Length > 2000 ? text[..2000] : text;

    // Only failures to reach the server are retried; an answer from the server (even an error status) is final.
    private static bool IsConnectionFailure(Exception e, CancellationToken cancellationToken) => e switch
    {
        HttpRequestException h => h.StatusCode is null,
        IOException or SocketException => true,
        TaskCanceledException => false,
        _ => false,
    } && !cancellationToken.IsCancellationRequested;

    private static void WriteJsonValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null: json.WriteNullValue(); break;
            case string s: json.WriteStringValue(s); break;
            case bool b: json.WriteNumberValue(b ? 1 : 0); break;
            case int i: json.WriteNumberValue(i); break;
            case long l: json.WriteNumberValue(l); break;
            case uint u: json.WriteNumberValue(u); break;
            case ulong u: json.WriteNumberValue(u); break;
            case ushort u: json.WriteNumberValue(u); break;
            case byte u: json.WriteNumberValue(u); break;
            case double d: json.WriteNumberValue(d); break;
            case decimal m: json.WriteNumberValue(m); break;
            case DateTime t: json.WriteNumberValue(RowBinaryWriter.UnixSeconds(t)); break;
            case DateOnly d: json.WriteStringValue(d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)); break;
            case IEnumerable<string> list:
                json.WriteStartArray();
                foreach (var item in list)
                    json.WriteStringValue(item);
                json.WriteEndArray();
                break;
            default:
                throw new ArgumentException($"cannot send a {value.GetType().Name} as JSONEachRow", nameof(value));
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierPattern();

    public void Dispose()
    {
        if (_ownsHttp)
            _http.Dispose();
    }
}
