using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Reflection;

namespace Puffy.Streaming.Cli;

/// <summary>
/// <c>puffy COMMAND [options]</c>: the command tree, and one line per usage error instead of the whole help.
/// </summary>
internal static class CommandLine
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int UsageError = 2;

    /// <summary><c>run --fail-on</c>: an alert of at least the given severity fired (every output is still written).</summary>
    public const int AlertsFired = 3;

    public static string Version { get; } =
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>Parses and runs <paramref name="args"/>; output and errors go to the given writers (default: the console).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var parseResult = Create().Parse(args);
        if (parseResult.Action is not (HelpAction or ShowVersion) && Problem(parseResult) is { } problem)
        {
            error.WriteLine($"puffy: {problem} (see '{CommandPath(parseResult.CommandResult)} --help')");
            return UsageError;
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
            return UsageError;
        }
        catch (Exception e) when (e is ClickHouse.ClickHouseException or HttpRequestException)
        {
            error.WriteLine($"puffy: ClickHouse failed: {e.Message}");
            return Failed;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or Confluent.Kafka.KafkaException
                                      or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"puffy: {e.Message}");
            return Failed;
        }
    }

    private static Command Create()
    {
        var root = new Command("puffy", "The Puffy clickstream pipeline. Exit codes: 0 ok, 1 failed, 2 usage error (unknown option, "
                                         + "missing or bad value, unusable path), 3 alerts fired (run --fail-on).")
        {
            RunCommand.Create(),
            SummaryCommand.Create(),
            ReportCommand.Create(),
            StackCommand.Create(),
            StackCommand.CreateReplay(),
            BrokerCommand.Create(),
            BenchCommand.Create(),
        };
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption { Action = new ShowVersion() });
        return root;
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
            return $"missing command: {string.Join(", ", names[..^1])} or {names[^1]}";
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
    /// <c>--version</c>: this assembly's informational version (System.CommandLine's own would print the entry
    /// assembly's, which under a test host is not puffy).
    /// </summary>
    private sealed class ShowVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(Version);
            return Ok;
        }
    }
}

/// <summary>A command line that cannot be carried out as given; reported as one line with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
