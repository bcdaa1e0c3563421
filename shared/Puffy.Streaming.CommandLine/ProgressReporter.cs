using Puffy.Streaming.Embedded;

namespace Puffy.Streaming.Cli;

/// <summary>Reports progress synchronously on the pipeline's thread (System.Progress would post it elsewhere).</summary>
internal sealed class ProgressReporter(Action<PipelineProgress> report) : IProgress<PipelineProgress>
{
    public void Report(PipelineProgress value) => report(value);
}
