using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Reflection;

namespace Puffy.Streaming.Cli;

/// <summary>Exit codes of every puffy command.</summary>
internal static class ExitCode
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int UsageError = 2;

    /// <summary><c>run --fail-on</c>: an alert of at least the given severity fired (every output is still written).</summary>
    public const int AlertsFired = 3;
}

/// <summary>
/// Parses and runs a puffy command tree: one line per usage error instead of the whole help, and the failures the
/// commands report as one line with exit code 1. Shared by the full command line and the native <c>puffy run</c>.
/// </summary>
internal static class CommandHost
{
    public static string Version { get; } =
        typeof(CommandHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public const string Description = "The Puffy clickstream pipeline. Exit codes: 0 ok, 1 failed, 2 usage error (unknown option, "
                                      + "missing or bad value, unusable path), 3 alerts fired (run --fail-on).";

    /// <summary>The root command <c>puffy</c> with the given commands, <c>--help</c> and <c>--version</c>.</summary>
    public static Command Root(params Command[] commands)
    {
        var root = new Command("puffy", Description);
        foreach (var command in commands)
            root.Subcommands.Add(command);
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption { Action = new ShowVersion() });
        return root;
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>; output and errors go to the given writers. An exception for which
    /// <paramref name="failure"/> (or the built-in list: ClickHouse, HTTP, I/O, invalid operation, timeout) holds is
    /// reported as one line with exit code 1.
    /// </summary>
    public static async Task<int> RunAsync(Command root, string[] args, TextWriter output, TextWriter error, Func<Exception, bool>? failure = null)
    {
        var parseResult = root.Parse(args);
        if (parseResult.Action is not (HelpAction or ShowVersion) && Problem(parseResult) is { } problem)
        {
            error.WriteLine($"puffy: {problem} (see '{CommandPath(parseResult.CommandResult)} --help')");
            return ExitCode.UsageError;
        }

        // No exception handler and no signal handling of System.CommandLine: the commands report their own failures,
        // and the broker and the stack's child processes keep the signal behaviour they have always had.
        var invocation = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        };
        try
        {
            return await parseResult.InvokeAsync(invocation);
        }
        catch (UsageException e)
        {
            error.WriteLine($"puffy: {e.Message}");
            return ExitCode.UsageError;
        }
        catch (Exception e) when (e is ClickHouse.ClickHouseException or HttpRequestException)
        {
            error.WriteLine($"puffy: ClickHouse failed: {e.Message}");
            return ExitCode.Failed;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or UnauthorizedAccessException
                                      || failure?.Invoke(e) == true)
        {
            error.WriteLine($"puffy: {e.Message}");
            return ExitCode.Failed;
        }
    }

    /// <summary>The first thing wrong with the command line, as one line; null when there is nothing.</summary>
    private static string? Problem(ParseResult parseResult)
    {
        var command = parseResult.CommandResult;
        if (parseResult.UnmatchedTokens is [var token, ..])
        {
            return token.StartsWith('-') ? $"unrecognized option '{token}'"
                : command.Command.Subcommands.Count > 0 ? $"unknown command '{token}'"
                : $"unexpected argument '{token}'";
        }

        // An option that takes a value also takes the next token when that is another option: reject that as missing.
        for (SymbolResult? r = command; r is CommandResult c; r = c.Parent)
        {
            foreach (var option in c.Children.OfType<OptionResult>())
            {
                if (!option.Implicit && option.Option.Arity.MinimumNumberOfValues > 0
                    && (option.Tokens.Count == 0 || option.Tokens[0].Value.StartsWith("--", StringComparison.Ordinal)))
                    return $"option '{option.IdentifierToken?.Value ?? option.Option.Name}' needs a value";
            }
        }

        if (command.Command.Action is null && command.Command.Subcommands.Count > 0)
        {
            var names = command.Command.Subcommands.Where(s => !s.Hidden).Select(s => s.Name).ToList();
            return names.Count == 1 ? $"missing command: {names[0]}" : $"missing command: {string.Join(", ", names[..^1])} or {names[^1]}";
        }

        if (parseResult.Errors is not [var first, ..])
            return null;
        // System.CommandLine's messages are sentences ("Option '--out' is required."); make them read like ours.
        var message = first.Message.ReplaceLineEndings(" ").Trim().TrimEnd('.');
        return message.Length > 0 ? char.ToLowerInvariant(message[0]) + message[1..] : message;
    }

    private static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? r = command; r is CommandResult c; r = c.Parent)
            names.Insert(0, c.Command.Name);
        return string.Join(' ', names);
    }

    /// <summary>
    /// <c>--version</c>: this build's informational version (System.CommandLine's own would print the entry
    /// assembly's, which under a test host is not puffy).
    /// </summary>
    private sealed class ShowVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(Version);
            return ExitCode.Ok;
        }
    }
}

/// <summary>A command line that cannot be carried out as given; reported as one line with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
