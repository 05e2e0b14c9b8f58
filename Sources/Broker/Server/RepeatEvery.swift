/// Runs `work` every `interval` (the first time after `initialDelay`, default one interval)
/// until the calling task is cancelled: the broker's timers as child tasks of its run().
func repeatEvery(_ interval: Duration, after initialDelay: Duration? = nil, _ work: () -> Void) async {
    var delay = initialDelay ?? interval
    while (try? await Task.sleep(for: delay)) != nil {
        work()
        delay = interval
    }
}
