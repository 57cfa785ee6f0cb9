//! Adapter discovery and selection, and the device every GPU kernel runs on.
//!
//! Software adapters (Mesa lavapipe/llvmpipe, SwiftShader, WARP) run WGSL on the CPU. They are
//! what CI tests the shaders on, but they are never taken automatically and never reported as a
//! GPU: [`AdapterRequest::allow_software`] must be set (`lipf run --backend gpu`).

use crate::GpuError;

/// One adapter as `lipf info` lists it.
#[derive(Debug, Clone)]
pub struct AdapterSummary {
    pub name: String,
    /// Graphics API (Vulkan, Metal, Dx12).
    pub backend: String,
    /// "discrete GPU", "integrated GPU", "virtual GPU", "software (CPU)", "other".
    pub kind: String,
    pub software: bool,
    pub driver: String,
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_storage_buffers_per_shader_stage: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
}

impl AdapterSummary {
    fn from_adapter(a: &wgpu::Adapter) -> AdapterSummary {
        let info = a.get_info();
        let l = a.limits();
        let software = is_software(&info);
        AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            kind: kind_name(&info, software).to_string(),
            software,
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            max_buffer_size: l.max_buffer_size,
            max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
            max_storage_buffers_per_shader_stage: l.max_storage_buffers_per_shader_stage,
            max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
        }
    }

    /// "NAME (Vulkan, discrete GPU)" or "NAME (Vulkan, software (CPU), not a GPU)".
    pub fn label(&self) -> String {
        if self.software {
            format!("{} ({}, {}, not a GPU)", self.name, self.backend, self.kind)
        } else {
            format!("{} ({}, {})", self.name, self.backend, self.kind)
        }
    }
}

fn kind_name(info: &wgpu::AdapterInfo, software: bool) -> &'static str {
    if software {
        return "software (CPU)";
    }
    match info.device_type {
        wgpu::DeviceType::DiscreteGpu => "discrete GPU",
        wgpu::DeviceType::IntegratedGpu => "integrated GPU",
        wgpu::DeviceType::VirtualGpu => "virtual GPU",
        wgpu::DeviceType::Cpu => "software (CPU)",
        wgpu::DeviceType::Other => "other",
    }
}

/// A software rasteriser that runs on the CPU: by device type, and by name for drivers that
/// report another type.
pub fn is_software(info: &wgpu::AdapterInfo) -> bool {
    let name = info.name.to_lowercase();
    info.device_type == wgpu::DeviceType::Cpu
        || [
            "llvmpipe",
            "lavapipe",
            "swiftshader",
            "softpipe",
            "basic render driver",
        ]
        .iter()
        .any(|s| name.contains(s))
}

/// Which adapter to take.
#[derive(Debug, Clone, Default)]
pub struct AdapterRequest {
    /// Take software adapters too (ranked after hardware ones).
    pub allow_software: bool,
    /// Only adapters whose name contains this (case-insensitive).
    pub name_contains: Option<String>,
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
    wgpu::Instance::new(desc)
}

/// Every adapter of the native backends, hardware first.
pub fn list_adapters() -> Vec<AdapterSummary> {
    let inst = instance();
    let mut v: Vec<AdapterSummary> =
        pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()))
            .iter()
            .map(AdapterSummary::from_adapter)
            .collect();
    v.sort_by_key(|a| a.software);
    v
}

/// The device and queue of one adapter, with the limits the adapter offers.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub limits: wgpu::Limits,
}

impl GpuContext {
    /// Picks an adapter: hardware before software (software only when allowed), discrete before
    /// integrated, filtered by name when asked.
    pub fn new(req: &AdapterRequest) -> Result<GpuContext, GpuError> {
        let inst = instance();
        let adapters = pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()));
        let seen: Vec<String> = adapters
            .iter()
            .map(|a| AdapterSummary::from_adapter(a).label())
            .collect();
        let rank = |a: &wgpu::Adapter| -> u32 {
            let info = a.get_info();
            if is_software(&info) {
                return 3;
            }
            match info.device_type {
                wgpu::DeviceType::DiscreteGpu => 0,
                wgpu::DeviceType::IntegratedGpu => 1,
                _ => 2,
            }
        };
        let mut candidates: Vec<wgpu::Adapter> = adapters
            .into_iter()
            .filter(|a| {
                let info = a.get_info();
                (req.allow_software || !is_software(&info))
                    && req
                        .name_contains
                        .as_ref()
                        .is_none_or(|s| info.name.to_lowercase().contains(&s.to_lowercase()))
            })
            .collect();
        candidates.sort_by_key(rank);
        let adapter = candidates
            .into_iter()
            .next()
            .ok_or_else(|| GpuError::NoAdapter {
                wanted: describe_request(req),
                seen: if seen.is_empty() {
                    "none".into()
                } else {
                    seen.join("; ")
                },
            })?;
        let summary = AdapterSummary::from_adapter(&adapter);
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("lipf"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device(format!("{}: {e}", summary.label())))?;
        Ok(GpuContext {
            device,
            queue,
            adapter: summary,
            limits,
        })
    }

    /// Fails with the name of the limit when a buffer of `bytes` cannot be bound as storage.
    pub fn check_storage_buffer(&self, what: &str, bytes: u64) -> Result<(), GpuError> {
        let checks = [
            (
                "max_storage_buffer_binding_size",
                self.limits.max_storage_buffer_binding_size,
            ),
            ("max_buffer_size", self.limits.max_buffer_size),
        ];
        for (name, limit) in checks {
            if bytes > limit {
                return Err(GpuError::LimitExceeded {
                    what: what.to_string(),
                    needed: bytes,
                    limit_name: name,
                    limit,
                    adapter: self.adapter.label(),
                });
            }
        }
        Ok(())
    }

    /// Fails with the name of the limit when a dispatch needs more workgroups than allowed.
    pub fn check_workgroups(&self, what: &str, groups: u32) -> Result<(), GpuError> {
        let limit = self.limits.max_compute_workgroups_per_dimension;
        if groups > limit {
            return Err(GpuError::LimitExceeded {
                what: what.to_string(),
                needed: groups as u64,
                limit_name: "max_compute_workgroups_per_dimension",
                limit: limit as u64,
                adapter: self.adapter.label(),
            });
        }
        Ok(())
    }

    /// Waits until the queue is idle.
    pub fn wait(&self) {
        let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
    }
}

fn describe_request(req: &AdapterRequest) -> String {
    let mut s = if req.allow_software {
        "any adapter".to_string()
    } else {
        "a hardware GPU".to_string()
    };
    if let Some(n) = &req.name_contains {
        s.push_str(&format!(" whose name contains `{n}`"));
    }
    s
}
