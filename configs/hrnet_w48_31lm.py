# The 31-landmark detector with HRNet-W48 (note B's accuracy choice of backbone); otherwise as hrnet_w32_31lm.
_base_ = ['./hrnet_w32_31lm.py']
model = dict(arch='hrnet_w48')
train_dataloader = dict(batch_size=2)  # W48 at 768 px needs about twice W32's activation memory
